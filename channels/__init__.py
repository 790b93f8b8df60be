"""Channel adapters. Each implements :class:`channels.base.Channel`; the registry in
:mod:`channels.registry` maps channel kinds to adapter classes."""
