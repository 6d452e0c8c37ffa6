"""Encoders turn product text and photos into unit-length vectors.

Each encoder follows :class:`prodsim.encoders.base.Encoder`; :mod:`prodsim.encoders.registry`
builds them from a name or a local model path. torch and transformers are imported only
when an encoder is built.
"""
