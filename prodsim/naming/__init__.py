"""Namers: short names for suggested groups."""

from prodsim.naming.base import Namer, NumberedNames
from prodsim.naming.ctfidf import ClassTfidfNamer

__all__ = ["ClassTfidfNamer", "Namer", "NumberedNames"]
