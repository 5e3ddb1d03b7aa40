"""The code model: disassembly per architecture, frames, call graph, roots, worst-case stack.

Entry point: `model(image) -> CodeModel` (built once per image and cached). Capstone objects
stay inside this package; callers see the dataclasses of `gomcu.code.types`.
"""

from gomcu.code.model import CodeModel, model
from gomcu.code.types import CallSite, Cycle, Frame, Function, Insn, Kind, Root, RootKind, VectorEntry
from gomcu.code.worstcase import PathStep, StackBound, StackGraph

__all__ = [
    "CallSite", "CodeModel", "Cycle", "Frame", "Function", "Insn", "Kind", "PathStep", "Root", "RootKind",
    "StackBound", "StackGraph", "VectorEntry", "model",
]
