"""What a finished fold is worth: the derived curve, the fills' accounting, statistics and labels.

Pure functions of a :class:`fbt.kernel.loop.Run`: nothing here steps a world or touches a file.
"""
