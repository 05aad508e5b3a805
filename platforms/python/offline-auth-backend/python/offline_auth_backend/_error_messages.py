"""str(e) of every error is the Rust error's message.

Our Rust error types export their `Display` text through UniFFI, but UniFFI's
Python exceptions do not use it: `str(e)` would be `reason='...'`, or empty
for a variant without fields. `install_error_messages` runs once, when the
package is imported, over the module UniFFI generated for it: each error type
whose Rust side exports `Display` gets a `__str__` that asks the library for
the message, and its variants a `__repr__` that keeps the typed fields.
Nothing in the generated module is edited; if its shape changes (a UniFFI
upgrade), the import fails here instead of leaving half-adapted errors.

Each package of this repository carries the same copy of this file (the
wheels are independent); test_error_messages.py checks that they agree.
"""


def install_error_messages(module):
    """Give every error type of `module` that exports Display its Rust message."""
    namespace = module.__name__.rsplit(".", 1)[-1]
    try:
        lib = module._UniffiLib
        rust_call = module._uniffi_rust_call
        string = module._UniffiFfiConverterString
    except AttributeError as missing:
        raise ImportError(f"{module.__name__}: UniFFI's module changed shape ({missing})") from None
    installed = []
    for name in module.__all__:
        base = getattr(module, name)
        if not (isinstance(base, type) and issubclass(base, Exception)):
            continue
        try:
            display = getattr(lib, f"uniffi_{namespace}_fn_method_{name.lower()}_uniffi_trait_display")
        except AttributeError:
            continue  # this error type exports no Display
        converter = getattr(module, f"_UniffiFfiConverterType{name}", None)
        if converter is None:
            raise ImportError(f"{module.__name__}: no converter for {name}")
        _install(base, display, converter, rust_call, string)
        installed.append(name)
    return installed


def _install(base, display, converter, rust_call, string):
    def __str__(self):
        try:
            return string.lift(rust_call(display, converter.lower(self)))
        except Exception:  # fields of the wrong type, set by Python code: keep UniFFI's own text
            return Exception.__str__(self)

    def __repr__(self):
        return "{}.{}({})".format(base.__name__, type(self).__name__, ", ".join(self.args))

    base.__str__ = __str__
    for variant in base.__subclasses__():
        variant.__repr__ = __repr__
