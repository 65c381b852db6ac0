"""The daemon side: watching, settling, claiming, the bounded queue, workers, outputs, shutdown.

Data flows one way: watch → settle → claim → queue → worker (engine pipeline) → write → metrics.
"""
