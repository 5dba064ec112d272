"""Internal helpers used across tfbnn's packages; not part of the public API.

Nothing here is re-exported by `tfbnn`: names and signatures may change
between releases. What lives here is what more than one package needs and no
user should have to (JSON files written atomically, checkpoint reading, the
stack differences, the fast normal sampler, the posterior-scale
parameterisation, the sample-axis helpers, the keyword checks the layers
share with the getter, and what a `scope=` argument selects). A module used
by one package only stays in that package, private
(`tfbnn/layers/_bayesian.py`).
"""
