"""The scorer: question + answer -> a Scorecard the candidate can trust."""
