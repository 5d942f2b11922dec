"""Neural model families (architecture only, one module each) and their Enhancer wrappers.

Importing this package imports none of them (nor torch): the families are found through
:mod:`audiorestore.catalog` by :mod:`.registry`, and the methods (:mod:`.neural`: the generic
``neural`` method and one per denoising family; :mod:`.dnp_method`: ``dnp``) by
:func:`audiorestore.enhancer.method_class`, each imported on first use.
"""
