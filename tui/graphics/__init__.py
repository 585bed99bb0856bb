"""Terminal graphics: kitty and sixel encoders, detection, `imagen-tui doctor`.

The modules here import neither Textual nor Rich; the Textual widget that uses them lives in
`imagen_tui.tui.widgets.image_preview`.
"""
