"""Transfer Lab engine: data, models, training strategies, run store and jobs.

Importable without Streamlit; the CLI (`python -m tlcore`) and the app both drive this package.
"""

__version__ = "0.1.0"
