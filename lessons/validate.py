"""One place that checks everything the user sends in: token text, numbers, whole matrices.

Pure Python (no Streamlit), so every entry path (text box, editor, URL, upload) shares it and
the tests can call it directly. Each rejection is an InputError whose message says what is
wrong and what is allowed, in plain words.
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal

from attention import MAX_DIM, token_embedding

MAX_TOKENS = 64
MAX_TOKEN_CHARS = 40
MAX_ABS_VALUE = 1e4
# Invisible format characters are refused, except the joiner inside emoji such as 👩‍💻.
ALLOWED_FORMAT_CHARS = {"\u200d"}


class InputError(ValueError):
    """Input that the lessons cannot use; str(error) is the message shown to the user."""


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name.lower()})" if name else "")


def check_token(token: str, position: int) -> str:
    """Return `token` if it can be shown and embedded; raise InputError otherwise."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InputError(
            f"Token {position} is {len(token):,} characters long; "
            f"each token may have at most {MAX_TOKEN_CHARS}."
        )
    for char in token:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or (category == "Cf" and char not in ALLOWED_FORMAT_CHARS):
            raise InputError(
                f"Token {position} contains an invisible control character, {_describe(char)}. "
                "Tokens may use letters, digits, punctuation, symbols and emoji."
            )
    return token


def parse_tokens(text: str) -> list[str]:
    """Split `text` on whitespace into 1..MAX_TOKENS checked tokens."""
    if not isinstance(text, str):
        raise InputError("Tokens must be text.")
    tokens = text.split()
    if not tokens:
        raise InputError(
            "Type at least one token. Tokens are separated by spaces, "
            f"for example: Attention Mechanism drives (at most {MAX_TOKENS})."
        )
    if len(tokens) > MAX_TOKENS:
        raise InputError(
            f"That is {len(tokens)} tokens; the lessons take at most {MAX_TOKENS}. "
            "Remove some and press Enter again."
        )
    return [check_token(token, i + 1) for i, token in enumerate(tokens)]


def check_value(value: object, where: str) -> float:
    """One embedding value: a finite number with |value| <= MAX_ABS_VALUE.

    Accepts numbers and number text, including a comma as the decimal mark ("0,5").
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"{where} is empty. Enter a number such as 0.5.")
    if isinstance(value, bool):
        raise InputError(f"{where} must be a number, not true/false.")
    if isinstance(value, str):
        text = value.strip()
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise InputError(f"{where} is not a number. Enter a number such as 0.5.") from None
    else:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"{where} must be a number such as 0.5.") from None
    if not math.isfinite(number):
        raise InputError(
            f"{where} is {number}; only finite numbers between "
            f"-{MAX_ABS_VALUE:g} and {MAX_ABS_VALUE:g} are allowed."
        )
    if abs(number) > MAX_ABS_VALUE:
        raise InputError(
            f"{where} is {number:g}; values must lie between "
            f"-{MAX_ABS_VALUE:g} and {MAX_ABS_VALUE:g}."
        )
    return number + 0.0  # turns -0.0 into 0.0


def check_dim(d: object) -> int:
    """The embedding dimension: a whole number from 1 to MAX_DIM."""
    if isinstance(d, bool) or not isinstance(d, int | float) or d != int(d):
        raise InputError(f"The dimension must be a whole number from 1 to {MAX_DIM}.")
    if not 1 <= int(d) <= MAX_DIM:
        raise InputError(f"The dimension is {d}; it must be from 1 to {MAX_DIM}.")
    return int(d)


def check_matrix(rows: Sequence[Sequence[object]], tokens: Sequence[str]) -> list[list[float]]:
    """A full embedding table: one row per token, every row the same length 1..MAX_DIM."""
    if len(rows) != len(tokens):
        raise InputError(
            f"There are {len(tokens)} tokens but {len(rows)} rows of numbers; "
            "give exactly one row per token."
        )
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise InputError("Every row must have the same number of values.")
    check_dim(widths.pop())
    return [
        [check_value(value, f"Row {i + 1}, dimension {j + 1}") for j, value in enumerate(row)]
        for i, row in enumerate(rows)
    ]


def embedding_row(token: str, d: int) -> list[float]:
    """The deterministic embedding of `token` as plain floats with 2 decimals."""
    return [round(value, 2) + 0.0 for value in token_embedding(token, d).tolist()]


def apply_edits(
    base: Sequence[Sequence[float]], edited_rows: dict, columns: Sequence[str]
) -> tuple[list[list[float]], list[str]]:
    """Apply a data editor's `edited_rows` ({row: {column name: value}}) to `base`.

    `columns` names the numeric columns in order (column j of `base`); other columns are
    ignored. Valid cells are applied; an invalid cell keeps its base value and adds a message.
    Returns (rows, messages).
    """
    index = {name: j for j, name in enumerate(columns)}
    rows = [list(row) for row in base]
    messages = []
    for row_key, changes in edited_rows.items():
        i = int(row_key)
        for column, value in changes.items():
            j = index.get(column)
            if j is None or not (0 <= i < len(rows) and j < len(rows[i])):
                continue
            try:
                rows[i][j] = check_value(value, f"Row {i + 1}, column {columns[j]}")
            except InputError as error:
                messages.append(str(error))
    return rows, messages


def carry_over(
    old_tokens: Sequence[str], old_rows: Sequence[Sequence[float]], new_tokens: Sequence[str]
) -> list[list[float]]:
    """Rows for `new_tokens`: a token that was already there keeps its vector.

    The k-th occurrence of a word takes the k-th old occurrence's row when there is one, else
    the word's first old row; a new word gets its deterministic embedding.
    """
    d = len(old_rows[0]) if old_rows else 3
    seen: dict[str, list[int]] = {}
    for i, token in enumerate(old_tokens):
        seen.setdefault(token, []).append(i)
    used: dict[str, int] = {}
    rows = []
    for token in new_tokens:
        if token in seen:
            k = used.get(token, 0)
            used[token] = k + 1
            indices = seen[token]
            rows.append(list(old_rows[indices[k] if k < len(indices) else indices[0]]))
        else:
            rows.append(embedding_row(token, d))
    return rows


def resize(tokens: Sequence[str], rows: Sequence[Sequence[float]], new_d: int) -> list[list[float]]:
    """Change the dimension: keep the first values, fill new ones from each token's embedding."""
    new_d = check_dim(new_d)
    resized = []
    for token, row in zip(tokens, rows, strict=True):
        if new_d <= len(row):
            resized.append(list(row[:new_d]))
        else:
            extra = embedding_row(token, new_d)[len(row) :]
            resized.append(list(row) + extra)
    return resized


# Share links: the URL query parameters `tokens`, `x` and `q` (see the README).

SHARE_KEYS = ("tokens", "x", "q")
MAX_PARAM_CHARS = 8192


def format_number(value: float) -> str:
    """A plain decimal with no exponent and no trailing zeros: 0.12, -3, 0.00001."""
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def share_params(tokens: Sequence[str], rows: Sequence[Sequence[float]], query: int) -> dict:
    """The URL query parameters that reproduce this example exactly."""
    return {
        "tokens": " ".join(tokens),
        "x": ";".join(",".join(format_number(v) for v in row) for row in rows),
        "q": str(query),
    }


def parse_share_params(
    params: Mapping[str, Sequence[str]],
) -> tuple[list[str], list[list[float]], int] | None:
    """Read `tokens`, `x` and `q` from URL query parameters (each key: its list of values).

    Returns None when the link has none of them; raises InputError when any is unusable.
    Unknown keys are ignored. Without `x`, new tokens get their made-up 3-d vectors.
    """
    if not any(key in params for key in SHARE_KEYS):
        return None
    values = {}
    for key in SHARE_KEYS:
        given = list(params.get(key, []))
        if len(given) > 1:
            raise InputError(
                f"The link gives the parameter '{key}' {len(given)} times; give it once."
            )
        if given and len(given[0]) > MAX_PARAM_CHARS:
            raise InputError(
                f"The link's parameter '{key}' is {len(given[0]):,} characters long; "
                f"the limit is {MAX_PARAM_CHARS:,}."
            )
        if given:
            values[key] = given[0]
    if "tokens" not in values:
        raise InputError("The link has no 'tokens' parameter, so it cannot set up an example.")
    tokens = parse_tokens(values["tokens"])
    if "x" in values:
        rows = [row.split(",") for row in values["x"].split(";")]
        try:
            rows = check_matrix(rows, tokens)
        except InputError as error:
            raise InputError(f"The link's embeddings (x) are not usable: {error}") from None
    else:
        rows = [embedding_row(token, 3) for token in tokens]
    query = 0
    if "q" in values:
        text = values["q"].strip()
        if not text.isdigit() or not 0 <= int(text) < len(tokens):
            raise InputError(
                f"The link's query index (q) must be a whole number from 0 to {len(tokens) - 1}."
            )
        query = int(text)
    return tokens, rows, query


# Uploaded embeddings: a CSV file, one row per token: the token, then one value per dimension.

MAX_UPLOAD_BYTES = 1024 * 1024  # 1 MB, as server.maxUploadSize = 1 in .streamlit/config.toml


def parse_embeddings_csv(data: bytes) -> tuple[list[str], list[list[float]]]:
    """Tokens and rows from CSV bytes; a first row whose values are not numbers is a header.

    Accepts UTF-8 (with or without a byte-order mark) and commas, semicolons or tabs between
    columns. Raises InputError with a plain message for anything else.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(
            f"The file is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes (1 MB)."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            "The file is not UTF-8 text. Save it as CSV (UTF-8) and try again."
        ) from None
    if not text.strip():
        raise InputError("The file is empty. Expected one row per token: token,0.1,0.2,...")
    first_line = text.lstrip().splitlines()[0]
    delimiter = next((d for d in ("\t", ";") if d in first_line), ",")
    try:
        rows = [
            row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row
        ]
    except csv.Error as error:
        raise InputError(f"The file is not valid CSV ({error}).") from None
    if len(rows) > MAX_TOKENS + 1:
        raise InputError(
            f"The file has {len(rows):,} rows; the lessons take at most {MAX_TOKENS} tokens."
        )
    if len(rows[0]) >= 2 and not any(_is_number(cell) for cell in rows[0][1:]):
        if len(rows) == 1:
            raise InputError(
                "The file has only one row and it holds no numbers (a header?). "
                "Add one row per token: token,0.1,0.2,..."
            )
        rows = rows[1:]  # a header row
    if len(rows) > MAX_TOKENS:
        raise InputError(f"The file has {len(rows)} tokens; the lessons take at most {MAX_TOKENS}.")
    if any(len(row) < 2 for row in rows):
        raise InputError(
            "Every row needs a token and at least one number, separated by commas "
            "(for example: cat,0.1,0.2,0.3)."
        )
    tokens = []
    for i, row in enumerate(rows, start=1):
        token = row[0].strip()
        if not token or any(char.isspace() for char in token):
            raise InputError(f"Row {i}: the token must be one word with no spaces.")
        tokens.append(check_token(token, i))
    values = check_matrix([row[1:] for row in rows], tokens)
    return tokens, values


def _is_number(cell: str) -> bool:
    """Whether a cell reads as a number at all (NaN and inf included: they are not a header)."""
    try:
        float(cell.strip().replace(",", "."))
    except ValueError:
        return False
    return True
