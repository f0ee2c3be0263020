"""Read model ``templates``: the library of governance templates, every version."""
