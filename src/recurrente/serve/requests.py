"""The shared parts of the request bodies: strict types, and the one-text-or-several pair.

Each task's serve module builds its endpoints' bodies on these (pydantic models, so FastAPI
checks them and the OpenAPI page shows them); a body that does not fit is a 4xx with one
sentence (:func:`recurrente.serve.app._validation_sentence`).
"""

from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Types as given (no "5" for 5), no unknown fields, no NaN or infinity."""
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class TextsRequest(Strict):
    """``text`` or ``texts`` (exactly one; :meth:`~recurrente.serve.app.Call.texts` checks it
    and the ``--max-texts`` and ``--max-chars`` limits)."""
    text: Optional[str] = Field(None, description="one text (or give texts)")
    texts: Optional[List[str]] = Field(None, description="several texts (at most --max-texts)")
