"""CSV text of a plain shape cut into columns by ``str.split``, as ``csv.reader`` reads it.

Two shapes qualify: rows free of quotes, and rows quoted cell by cell (``"a","b"``) with no
quote inside a cell (a line break only between rows or inside a cell). Any other text (a
quote in a cell, an unquoted cell beside quoted ones, a blank or ragged row) gets None:
the caller reads it with ``csv.reader``.
"""

from __future__ import annotations


def plain_columns(
    body: str, width: int, delimiter: str = ",", line_end: str = "\n", rows: int | None = None
) -> list[list[str]] | None:
    """The ``width`` columns of ``body`` (rows joined by ``line_end``, none after the last;
    ``line_end`` holds the only line feeds outside quoted cells) when it has one of the
    plain shapes and every row ``width`` cells; else None (also for a carriage return
    outside ``line_end`` in a body free of quotes: ``csv.reader`` ends a row there).

    Each row break becomes a cell of its own (a line feed between two delimiters), so one
    ``split`` cuts the whole body and the rows' widths are checked at once: the breaks
    must fall every width + 1 cells. In a quoted body a cell may hold line breaks, so no
    cell may be a line feed alone (it would pass for a row break), and the quotes must be
    the cells' own (two a cell); the body's outer quotes are taken off the first and last
    cells, not off a copy of the body (a Bulk page can be tens of megabytes).

    ``rows``: the line feeds in a body free of quotes plus one, when the caller has
    counted them (else, and in a quoted body, the row breaks are counted here); a line
    feed that is not ``line_end`` then leaves too few cells for that many rows: None.
    """
    quoted = '"' in body
    if not quoted:
        cut, row = delimiter, line_end
    elif body[0] == '"' and body[-1] == '"':
        cut, row = f'"{delimiter}"', f'"{line_end}"'
    else:
        return None
    if rows is None or quoted:
        rows = body.count(row) + 1
    if quoted and body.count('"') != 2 * width * rows:  # a quote inside a cell
        return None
    text = body.replace(row, f"{cut}\n{cut}")
    del body
    if not quoted and "\r" in text:
        return None
    cells = text.split(cut)
    del text
    if (
        len(cells) != (width + 1) * rows - 1
        or cells[width :: width + 1].count("\n") != rows - 1  # a blank or ragged row
        or (quoted and cells.count("\n") != rows - 1)  # a quoted line break alone
        # the body's outer quotes, not a cut's (``"""|"``: its last quote ends a cut)
        or (quoted and not (cells[0].startswith('"') and cells[-1].endswith('"')))
    ):
        return None
    if quoted:  # the first cell's opening quote and the last one's closing quote
        cells[0] = cells[0][1:]
        cells[-1] = cells[-1][:-1]
    return [cells[i :: width + 1] for i in range(width)]
