"""JSON Schemas of tallyform's files, shipped inside the package as ``tallyform.schemas``.

``template.schema.json`` describes one template file; ``project.schema.json`` describes
``tallyform.yaml``. Read them with :func:`tallyform.config.schema.load_schema`.
"""
