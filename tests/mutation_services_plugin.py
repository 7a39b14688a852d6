"""Speed for the mutation runs of the services (`make mutation`, docs/testing.md).

scripts/mutation_run.py loads this module as a pytest plugin for the services set only
(`-p tests.mutation_services_plugin` in pyproject.toml [tool.mutmut-services]); an ordinary test
run never does. Every invoicing test starts from a world with an owner account, whose password
is hashed with argon2id at the production cost (19 MiB, t=2: about a tenth of a second, a good
part of a short test). Nothing the services set mutates reads that hash, so under a mutant it
is made at argon2's lowest cost; the tests of the real parameters (sign-in, passwords) are not
in that set and always run with them.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type

from billing_app.services.common import tokens

tokens._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
