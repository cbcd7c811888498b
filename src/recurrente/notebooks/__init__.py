"""The course notebooks, shipped inside the package: ``es/`` (Spanish) and ``en/`` (English)
hold the same notebooks (``NN-slug.ipynb``, the same code, the prose translated).

``recurrente notebooks [DIR]`` copies them out of the installed package; open them with
``pip install 'recurrente[notebooks]'`` and ``jupyter lab DIR``. They are stored without
outputs, and each runs in seconds with ``RECURRENTE_NOTEBOOK_QUICK=1`` (tests/notebooks).
"""
