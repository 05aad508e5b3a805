package dev.offlineauth.android

import dev.offlineauth.KeyProtection
import dev.offlineauth.KeystoreException

/**
 * The bytes [AndroidKeystore.wrap] returns and [AndroidKeystore.unwrap] takes.
 *
 * Version 1, all lengths fixed:
 *
 * | offset | length | content                                                        |
 * |--------|--------|----------------------------------------------------------------|
 * | 0      | 1      | format version, `0x01`                                         |
 * | 1      | 1      | protection: `0x01` Device, `0x02` Biometric                    |
 * | 2      | 12     | AES-GCM IV, chosen by the keystore (randomized encryption)     |
 * | 14     | n + 16 | AES-256-GCM ciphertext of the n plaintext bytes, then 16-byte tag |
 *
 * The associated data (not stored) is [aad]: `"offline-auth/android-keystore"`,
 * `0x00`, the version byte, the protection byte, then the alias in UTF-8. A blob
 * therefore only opens under the alias and protection it was made for, with the
 * key of that alias; a changed byte anywhere gives [KeystoreException.UnwrapFailed].
 * The blob holds no key material: the key never leaves the keystore.
 */
object WrappedBlob {
    const val VERSION: Byte = 0x01
    const val IV_BYTES = 12
    const val TAG_BYTES = 16
    const val HEADER_BYTES = 2 + IV_BYTES
    /** Largest plaintext the adapter wraps (the vault wraps 32-byte keys). */
    const val MAX_PLAINTEXT_BYTES = 1024
    const val MIN_BLOB_BYTES = HEADER_BYTES + 1 + TAG_BYTES
    const val MAX_BLOB_BYTES = HEADER_BYTES + MAX_PLAINTEXT_BYTES + TAG_BYTES

    private val AAD_PREFIX = "offline-auth/android-keystore".toByteArray(Charsets.US_ASCII)

    /** A decoded blob: who it is for, the IV and ciphertext‖tag. */
    class Parts(val protection: KeyProtection, val iv: ByteArray, val ciphertext: ByteArray)

    fun protectionByte(protection: KeyProtection): Byte = when (protection) {
        KeyProtection.DEVICE -> 0x01
        KeyProtection.BIOMETRIC -> 0x02
    }

    fun encode(protection: KeyProtection, iv: ByteArray, ciphertext: ByteArray): ByteArray {
        require(iv.size == IV_BYTES) { "the keystore returned a ${iv.size}-byte IV, expected $IV_BYTES" }
        require(ciphertext.size in (1 + TAG_BYTES)..(MAX_PLAINTEXT_BYTES + TAG_BYTES)) { "ciphertext length out of range" }
        val out = ByteArray(HEADER_BYTES + ciphertext.size)
        out[0] = VERSION
        out[1] = protectionByte(protection)
        iv.copyInto(out, 2)
        ciphertext.copyInto(out, HEADER_BYTES)
        return out
    }

    /** Parses [blob]; anything that is not a version-1 blob is [KeystoreException.UnwrapFailed]. */
    fun decode(blob: ByteArray): Parts {
        if (blob.size < MIN_BLOB_BYTES || blob.size > MAX_BLOB_BYTES) throw KeystoreException.UnwrapFailed()
        if (blob[0] != VERSION) throw KeystoreException.UnwrapFailed()
        val protection = when (blob[1]) {
            0x01.toByte() -> KeyProtection.DEVICE
            0x02.toByte() -> KeyProtection.BIOMETRIC
            else -> throw KeystoreException.UnwrapFailed()
        }
        return Parts(protection, blob.copyOfRange(2, HEADER_BYTES), blob.copyOfRange(HEADER_BYTES, blob.size))
    }

    /** Associated data binding a blob to its alias and protection. */
    fun aad(alias: String, protection: KeyProtection): ByteArray =
        AAD_PREFIX + byteArrayOf(0x00, VERSION, protectionByte(protection)) + alias.toByteArray(Charsets.UTF_8)
}

/** Checks on the arguments the vault passes, before any keystore call. */
object Validation {
    /** Longest alias accepted (the vault's are about 60 characters). */
    const val MAX_ALIAS_CHARS = 200

    fun alias(alias: String) {
        if (alias.isEmpty() || alias.length > MAX_ALIAS_CHARS || alias.any { it.isISOControl() || it.isWhitespace() }) {
            throw KeystoreException.Failed("invalid key alias (1 to $MAX_ALIAS_CHARS characters, no spaces or control characters)")
        }
    }

    fun plaintext(plaintext: ByteArray) {
        if (plaintext.isEmpty() || plaintext.size > WrappedBlob.MAX_PLAINTEXT_BYTES) {
            throw KeystoreException.Failed("plaintext must be 1 to ${WrappedBlob.MAX_PLAINTEXT_BYTES} bytes")
        }
    }
}
