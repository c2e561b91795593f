"""The render layer: the only package that imports ursina / panda3d.

It reads the resources the data systems computed (CriticSurface, the table's height and trail
columns, HudText, TrainingStats) and writes them into Panda3D geometry through numpy views.
"""
