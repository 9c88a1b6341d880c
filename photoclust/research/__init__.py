"""Research code: measuring photoclust rather than running it. The report of ``evaluate
--report`` and the simulated user of ``evaluate --simulate-corrections`` and the learning
benchmarks. The product (``photoclust.core``, the command line at start-up, the app) does not import
it; the commands that need it import it when they run. See docs/research.md.
"""
