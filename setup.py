"""Build configuration beyond pyproject.toml: the emulator's optional native block hook.

`gomcu.emu._fastblock` counts instructions per translation block in C (about 10x faster than a
Python hook). It needs only Python.h; when it cannot be compiled the emulator falls back to its
pure-Python hook, so the build failure is not fatal (`optional=True`).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("gomcu.emu._fastblock", ["src/gomcu/emu/_fastblock.c"], optional=True),
    ]
)
