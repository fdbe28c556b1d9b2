"""File formats: the bytes other systems hand a bot, read into plain values.

    encoding.py     the one text-encoding rule (BOM, UTF-8, GBK/GB18030, Big5 refused)
    tabular.py      CSV and Excel lists as (line, {header: value}) rows
    statements/     bank statements in every common format, one model
    errors.py       one tree: FormatError (a BusinessError) and its kinds

Nothing here talks to another system or knows the runner; a bad file raises a
:class:`~backroom.bots.formats.errors.FormatError` naming the file and the place.
"""
