"""Pure compute: decoding, preprocessing, tiling, DB post-processing, merging, the ONNX model stage.

Nothing in here watches files, starts threads or writes outputs, so it is tested with arrays.
"""
