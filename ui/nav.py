"""The app's pages, in lesson order, for the sidebar's navigation links.

Streamlit discovers the files in pages/ by itself; its own navigation would label the home page
after its file name ("app"), so the sidebar draws these links instead (see
client.showSidebarNavigation in .streamlit/config.toml).
"""

from __future__ import annotations

PAGES: tuple[tuple[str, str, str], ...] = (
    ("app.py", "1 · Simple self-attention", ":material/looks_one:"),
    ("pages/2_Trainable_weights.py", "2 · Trainable weights", ":material/looks_two:"),
    ("pages/3_Causal_attention.py", "3 · Causal attention", ":material/looks_3:"),
    ("pages/4_Multi-head_attention.py", "4 · Multi-head attention", ":material/looks_4:"),
    ("pages/5_Pretrained_transformer.py", "5 · A real transformer", ":material/looks_5:"),
    ("pages/6_Softmax_lab.py", "Softmax lab", ":material/science:"),
    ("pages/1_About_attention.py", "About attention", ":material/menu_book:"),
)
