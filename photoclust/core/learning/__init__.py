"""Learning from the user's corrections: constraints, the learner, the review queue, simulation."""
