"""Response models of ``/forms``: the live options of a run form's field."""

from __future__ import annotations

# The domain caches these answers as they are: the models live there, the API shows them.
from ylai_plugin.domain.form_options import OptionOut, OptionsAnswer

__all__ = ["OptionOut", "OptionsAnswer"]
