"""Loaders for EEG data sets and a synthetic motor-imagery generator.

No loader downloads anything at import time. The data live in the folder
given by :func:`get_data_dir` (``SKEEG_DATA`` or ``~/skeeg_data``), except
for :func:`load_eegmmidb`, which uses MNE's own data folder by default.
"""

from ._base import get_data_dir
from .bci_iiib import load_bci_iiib
from .deap import load_deap
from .eegmmidb import load_eegmmidb
from .synthetic import make_motor_imagery
from .uea import load_uea

__all__ = [
    "get_data_dir",
    "load_bci_iiib",
    "load_deap",
    "load_eegmmidb",
    "load_uea",
    "make_motor_imagery",
]
