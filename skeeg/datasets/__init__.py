"""Loaders for EEG data sets and a synthetic motor-imagery generator.

Every loader finds its files in the same data folder: its ``data_dir``
argument, else the ``SKEEG_DATA`` environment variable, else
``~/skeeg_data`` (:func:`get_data_dir`). Nothing is downloaded at import
time; :func:`load_uea` downloads only when asked (``download=True``, checked
against facts kept in skeeg), and :func:`load_eegmmidb` lets MNE fetch
missing EEGMMIDB files from PhysioNet into that folder.

Each returned ``Bunch`` says the unit of its trials in ``unit`` (``"uV"``
for the recordings: microvolts, the scale EEG is usually given in).
Loading never executes code from a file, never trusts a size a file
declares, and every error names the file and the problem.
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
