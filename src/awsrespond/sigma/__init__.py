"""A Sigma engine on DuckDB: Sigma rules (parsed by pySigma) compiled to SQL over the ``events`` table
of :mod:`awsrespond.trail.events`, all event rules evaluated in one scan, correlation rules one query
each. Semantics and design: :mod:`awsrespond.sigma.compiler`, :mod:`awsrespond.sigma.fields`,
:mod:`awsrespond.sigma.correlation`."""

from awsrespond.sigma.matcher import match_rules, to_detections
from awsrespond.sigma.rules import HuntRule, RuleProblem, RuleSet, builtin_rules_dir, load_rules

__all__ = ["HuntRule", "RuleProblem", "RuleSet", "builtin_rules_dir", "load_rules", "match_rules", "to_detections"]
