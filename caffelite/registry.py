"""Classes registered under Caffe's type names (layer types, solver types)."""


class Registry(dict):
    """A dict of type name -> class, filled by the ``register`` decorator,
    which also sets the class's ``type`` attribute."""

    def register(self, type_name):
        def wrap(cls):
            cls.type = type_name
            self[type_name] = cls
            return cls
        return wrap

    def names(self):
        return sorted(self)
