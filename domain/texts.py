"""Interface texts the domain declares (command titles, the controller's name): English
msgids marked for `pybabel extract -k N_`, translated by the web where they are shown."""


def N_(text: str) -> str:  # noqa: N802 - gettext's conventional no-op marker
    return text
