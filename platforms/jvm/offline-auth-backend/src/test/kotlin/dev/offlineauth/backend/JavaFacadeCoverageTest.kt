package dev.offlineauth.backend

import java.io.File
import java.lang.reflect.Method
import java.lang.reflect.Modifier
import kotlin.coroutines.Continuation
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * OfflineAuthBackend is hand written over the generated bindings; these tests
 * make a new export (a constructor, a top-level function, an async method)
 * fail the build until the Java facade has its form, and check that every
 * form is static (callable as `OfflineAuthBackend.name(...)` from Java).
 */
class JavaFacadeCoverageTest {
    private val facade = OfflineAuthBackend::class.java
    private val statics = facade.declaredMethods.filter { Modifier.isStatic(it.modifiers) && Modifier.isPublic(it.modifiers) }

    private fun hasStatic(name: String?, params: List<Class<*>>, returns: Class<*>): Boolean =
        statics.any { (name == null || it.name == name) && it.parameterTypes.toList() == params && returns.isAssignableFrom(it.returnType) }

    /** The exported objects (UniFFI's `AutoCloseable` classes), from the compiled classes directory. */
    private fun exportedObjects(): List<Class<*>> {
        val dir = File(facade.protectionDomain.codeSource.location.toURI()).resolve("dev/offlineauth/backend")
        return dir.listFiles { f -> f.name.endsWith(".class") && '$' !in f.name }!!
            .map { Class.forName("dev.offlineauth.backend." + it.name.removeSuffix(".class"), false, facade.classLoader) }
            .filter { !it.isInterface && AutoCloseable::class.java.isAssignableFrom(it) && Modifier.isPublic(it.modifiers) }
    }

    /**
     * UniFFI's own helpers are `internal` in Kotlin, public in the bytecode:
     * synthetic accessors (`access$...`), `uniffi...` functions, and inline
     * helpers that take a Kotlin lambda (`use`).
     */
    private fun isUniffiPlumbing(m: Method): Boolean =
        '$' in m.name || m.name.startsWith("uniffi") || m.name.startsWith("getUniffi") ||
            m.parameterTypes.any { it.name.startsWith("kotlin.jvm.functions.") }

    @Test
    fun `every generated top-level function has a static form of the same name on the facade`() {
        val topLevel = Class.forName("dev.offlineauth.backend.Offline_auth_backendKt").declaredMethods
            .filter { Modifier.isPublic(it.modifiers) && Modifier.isStatic(it.modifiers) && !isUniffiPlumbing(it) }
        assertTrue(topLevel.size >= 9, "the generated top-level functions were not found: $topLevel")
        val missing = topLevel.filterNot { hasStatic(it.name, it.parameterTypes.toList(), it.returnType) }.map(Method::getName)
        assertEquals(emptyList<String>(), missing)
    }

    @Test
    fun `every generated Companion constructor has a static factory on the facade`() {
        val constructors = exportedObjects().flatMap { type ->
            val companion = type.declaredFields.firstOrNull { it.name == "Companion" && Modifier.isStatic(it.modifiers) }?.type
            companion?.declaredMethods.orEmpty()
                .filter { Modifier.isPublic(it.modifiers) && it.returnType == type }
                .map { type to it }
        }
        assertTrue(constructors.size >= 8, "the generated Companion constructors were not found: $constructors")
        val missing = constructors.filterNot { (type, m) -> hasStatic(null, m.parameterTypes.toList(), type) }
            .map { (type, m) -> "${type.simpleName}.${m.name}" }
        assertEquals(emptyList<String>(), missing)
    }

    @Test
    fun `every generated suspend method has a CompletableFuture form on the facade`() {
        val suspending = exportedObjects().flatMap { type ->
            type.declaredMethods.filter { m ->
                Modifier.isPublic(m.modifiers) && m.parameterTypes.lastOrNull() == Continuation::class.java
            }.map { type to it }
        }
        assertTrue(suspending.size >= 2, "the generated suspend methods were not found: $suspending")
        val missing = suspending.filterNot { (type, m) ->
            val params = listOf(type) + m.parameterTypes.dropLast(1)
            hasStatic(m.name.removeSuffix("Async") + "Future", params, java.util.concurrent.CompletableFuture::class.java)
        }.map { (type, m) -> "${type.simpleName}.${m.name}" }
        assertEquals(emptyList<String>(), missing)
    }
}
