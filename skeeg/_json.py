"""JSON as skeeg reads it: one value per key, finite numbers only.

Python's ``json`` keeps the last of repeated keys without a word (a model
file with ``"lr": 0.001, "lr": 0.5`` would load as 0.5) and reads ``NaN``
and ``Infinity``, which are not JSON. Every file skeeg reads goes through
:func:`loads`.
"""

import json


def loads(text):
    """Parse JSON ``text`` (str or bytes), refusing repeated keys and non-finite constants.

    Raises
    ------
    ValueError
        Naming the repeated key or the constant (``json.JSONDecodeError`` for
        malformed text, also a ``ValueError``).
    """
    return json.loads(text, object_pairs_hook=_unique, parse_constant=_refuse_constant)


def _unique(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r:.80} appears twice in one JSON object")
        seen[key] = value
    return seen


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON (skeeg writes non-finite floats as tagged values)")
