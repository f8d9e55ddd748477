"""tallyform: Tallyfy workflow templates as code.

The package is laid out as the stages of its pipeline:

- ``config``: reading the user's files (``tallyform.yaml`` and template YAML) with
  file/line/column for every value, schema and semantic validation, ``fmt``.
- ``model``: the typed desired state that validated files turn into.
- ``client``: the only code that speaks HTTP to Tallyfy.
- ``engine``: reading the live org, matching, diffing, applying.
- ``render``: plans as text, JSON and Markdown.
- ``emulator``: a working stand-in for the Tallyfy API.
- ``cli``: the ``tallyform`` command (the only user of click).
"""

__version__ = "0.1.0"
