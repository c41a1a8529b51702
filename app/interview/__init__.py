"""The interviewer: a LangGraph state machine over the scorer and the model seam."""
