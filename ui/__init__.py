"""Streamlit glue shared by the screens: state, the sidebar, the embedding editor."""
