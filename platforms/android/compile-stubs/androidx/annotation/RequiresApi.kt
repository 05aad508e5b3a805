// Compile-only stand-in for androidx.annotation.RequiresApi (androidx.annotation:annotation),
// which the Android-flavoured generated bindings import. The real artifact is published
// only in Google's Maven repository, which CI does not reach; an Android app gets the real
// one from its own dependencies. This file is compiled for the CI check only and is
// excluded from the module's jar (see pom.xml), so it can never clash with the real class.
// Same shape as the real annotation: retention CLASS, the same targets, `value`/`api`.
package androidx.annotation

@MustBeDocumented
@Retention(AnnotationRetention.BINARY)
@Target(
    AnnotationTarget.ANNOTATION_CLASS,
    AnnotationTarget.CLASS,
    AnnotationTarget.FUNCTION,
    AnnotationTarget.PROPERTY_GETTER,
    AnnotationTarget.PROPERTY_SETTER,
    AnnotationTarget.CONSTRUCTOR,
    AnnotationTarget.FIELD,
    AnnotationTarget.FILE,
)
annotation class RequiresApi(val value: Int = 1, val api: Int = 1)
