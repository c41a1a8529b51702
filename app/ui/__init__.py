"""The Gradio web app: thin handlers over services."""
