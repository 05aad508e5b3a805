package dev.offlineauth

import java.io.File
import java.lang.reflect.Method
import java.lang.reflect.Modifier
import java.util.concurrent.CompletableFuture
import kotlin.coroutines.Continuation
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * OfflineAuth is hand written over the generated bindings; these tests make a
 * new export that Java cannot call (a name Kotlin mangles for its unsigned
 * types, a `suspend` method, a `Companion` constructor, a record whose
 * constructor Java cannot see, a callback whose exception Java cannot throw)
 * fail the build until the facade has its Java form.
 */
class JavaFacadeCoverageTest {
    private val facade = OfflineAuth::class.java
    private val statics = facade.declaredMethods.filter { Modifier.isStatic(it.modifiers) && Modifier.isPublic(it.modifiers) }
    private val ours = setOf("OfflineAuth", "VaultConfigBuilder", "JavaPlatformKeystore", "JavaPlatformAttestor", "JavaClock")

    private fun hasStatic(name: String?, params: List<Class<*>>, returns: Class<*>? = null): Boolean =
        statics.any {
            (name == null || it.name == name) && it.parameterCount == params.size &&
                it.parameterTypes.zip(params).all { (declared, wanted) -> declared.isAssignableFrom(wanted) } &&
                (returns == null || returns.isAssignableFrom(it.returnType))
        }

    /** Every public class the bindings generated (nested ones too: error variants, event variants), without UniFFI's plumbing. */
    private val generated: List<Class<*>> by lazy {
        val dir = File(facade.protectionDomain.codeSource.location.toURI()).resolve("dev/offlineauth")
        dir.listFiles { f -> f.name.endsWith(".class") }!!
            .map { it.name.removeSuffix(".class") }
            .filter { name ->
                name.substringBefore('$') !in ours && !name.contains(Regex("\\$[0-9]")) && !name.endsWith("\$Companion") &&
                    !name.startsWith("FfiConverter") && !name.startsWith("Uniffi") && !name.startsWith("uniffi") &&
                    !name.contains("Adapter") && !name.startsWith("IntegrityChecking") && !name.startsWith("RustBuffer")
            }
            .map { Class.forName("dev.offlineauth.$it", false, facade.classLoader) }
            .filter { Modifier.isPublic(it.modifiers) }
    }

    /** UniFFI's helpers: `internal` in Kotlin, public in the bytecode. */
    private fun isPlumbing(m: Method): Boolean =
        m.isSynthetic || '$' in m.name || m.name.startsWith("uniffi") || m.name.startsWith("getUniffi") ||
            m.parameterTypes.any { it.name.startsWith("kotlin.jvm.functions.") } ||
            listOf("component", "copy-").any { m.name.startsWith(it) } || (m.name.startsWith("set") && '-' in m.name)

    @Test
    fun `every generated method whose name Kotlin mangled has a static form named as the Kotlin one`() {
        val mangled = generated.filter { !it.isInterface }.flatMap { type ->
            type.declaredMethods.filter { Modifier.isPublic(it.modifiers) && '-' in it.name && !isPlumbing(it) }.map { type to it }
        }
        assertTrue(mangled.size >= 15, "the mangled methods were not found: $mangled")
        val missing = mangled.filterNot { (type, m) ->
            val base = m.name.substringBefore('-')
            val name = if (base.startsWith("get") && m.parameterCount == 0) base.removePrefix("get").replaceFirstChar(Char::lowercase) else base
            val params = if (Modifier.isStatic(m.modifiers)) m.parameterTypes.toList() else listOf(type) + m.parameterTypes
            hasStatic(name, params)
        }.map { (type, m) -> "${type.simpleName}.${m.name}" }
        assertEquals(emptyList<String>(), missing)
    }

    @Test
    fun `every generated top-level function has a static form of the same name on the facade`() {
        val topLevel = Class.forName("dev.offlineauth.Offline_authKt").declaredMethods
            .filter { Modifier.isPublic(it.modifiers) && Modifier.isStatic(it.modifiers) && !isPlumbing(it) && '-' !in it.name }
            .filter { it.name != "use" }
        assertTrue(topLevel.size >= 5, "the generated top-level functions were not found: $topLevel")
        val missing = topLevel.filterNot { hasStatic(it.name, it.parameterTypes.toList(), it.returnType) }.map(Method::getName)
        assertEquals(emptyList<String>(), missing)
    }

    @Test
    fun `every generated Companion constructor has a static factory on the facade`() {
        val constructors = generated.filter { AutoCloseable::class.java.isAssignableFrom(it) && !it.isInterface }.flatMap { type ->
            val companion = type.declaredFields.firstOrNull { it.name == "Companion" && Modifier.isStatic(it.modifiers) }?.type
            companion?.declaredMethods.orEmpty().filter { Modifier.isPublic(it.modifiers) && it.returnType == type }.map { type to it }
        }
        assertTrue(constructors.size >= 2, "the generated Companion constructors were not found: $constructors")
        val missing = constructors.filterNot { (type, m) -> hasStatic(null, m.parameterTypes.toList(), type) }
            .map { (type, m) -> "${type.simpleName}.${m.name}" }
        assertEquals(emptyList<String>(), missing)
    }

    @Test
    fun `every generated suspend method has a CompletableFuture form on the facade`() {
        val suspending = generated.filter { !it.isInterface }.flatMap { type ->
            type.declaredMethods.filter {
                Modifier.isPublic(it.modifiers) && !isPlumbing(it) && it.parameterTypes.lastOrNull() == Continuation::class.java
            }
                .map { type to it }
        }
        assertTrue(suspending.size >= 8, "the generated suspend methods were not found: $suspending")
        val missing = suspending.filterNot { (type, m) ->
            hasStatic(m.name.removeSuffix("Async") + "Future", listOf(type) + m.parameterTypes.dropLast(1), CompletableFuture::class.java)
        }.map { (type, m) -> "${type.simpleName}.${m.name}" }
        assertEquals(emptyList<String>(), missing)
    }

    @Test
    fun `every record Java must build but cannot construct has a builder on the facade`() {
        fun javaCanConstruct(type: Class<*>) = type.constructors.any { c ->
            !c.isSynthetic && c.parameterTypes.none { it.name == "kotlin.jvm.internal.DefaultConstructorMarker" }
        }
        // Every public method Java can see, the Companion constructors (PinVault.open) included.
        val owners = generated + generated.mapNotNull { type ->
            type.declaredFields.firstOrNull { it.name == "Companion" && Modifier.isStatic(it.modifiers) }?.type
        }
        val api = owners.flatMap { it.declaredMethods.toList() }.filter { Modifier.isPublic(it.modifiers) && !isPlumbing(it) }
        val returnTypes = api.map { it.genericReturnType.typeName }
        val returned = generated.filter { type ->
            val name = Regex("\\b" + Regex.escape(type.name) + "\\b")
            returnTypes.any { name.containsMatchIn(it) }
        }.toSet()
        val taken = api.flatMap { it.parameterTypes.toList() }.toSet()
        val mustBuild = generated.filter { it in taken && it !in returned && !it.isInterface && !javaCanConstruct(it) }
        assertEquals(listOf(VaultConfig::class.java), mustBuild, "records Java must build: give each a builder on OfflineAuth")
        val missing = mustBuild.filterNot { type ->
            statics.any { m -> m.returnType.declaredMethods.any { it.name == "build" && it.returnType == type } }
        }
        assertEquals(emptyList<Class<*>>(), missing)
    }

    @Test
    fun `every fallible callback interface has a Java form declaring its exception, and an adapter on the facade`() {
        // A callback interface is one with a Rust-backed `<Name>Impl` class; it is fallible when those methods throw.
        val callbacks = generated.filter { it.isInterface }.mapNotNull { type ->
            val impl = generated.firstOrNull { it.simpleName == type.simpleName + "Impl" } ?: return@mapNotNull null
            val throwing = impl.declaredMethods.filter { m -> m.exceptionTypes.isNotEmpty() && type.methods.any { it.name == m.name } }
            if (throwing.isEmpty()) null else type to throwing
        }
        assertEquals(setOf("PlatformKeystore", "PlatformAttestor", "Clock"), callbacks.map { it.first.simpleName }.toSet())
        for ((type, throwing) in callbacks) {
            val java = Class.forName("dev.offlineauth.Java${type.simpleName}", false, facade.classLoader)
            for (m in throwing) {
                val form = java.methods.singleOrNull { it.name == m.name.substringBefore('-') }
                assertTrue(form != null && form.exceptionTypes.toSet() == m.exceptionTypes.toSet(),
                    "Java${type.simpleName}.${m.name} must declare ${m.exceptionTypes.map { it.simpleName }}")
            }
            assertTrue(hasStatic(null, listOf(java), type), "OfflineAuth must adapt Java${type.simpleName} to ${type.simpleName}")
        }
    }
}
