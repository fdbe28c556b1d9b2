"""The metrics bot: contact-centre figures from many sources, anomalies, the daily 数据通报.

Public pieces: :class:`Metrics` (the bot), :class:`Config`, :class:`Params`. The KPI definitions
are documented in :mod:`bots.metrics.kpis`, the anomaly rules in :mod:`bots.metrics.anomaly`.
"""

from backroom.bots.metrics.bot import Metrics
from backroom.bots.metrics.config import Config, Params

__all__ = ["Config", "Metrics", "Params"]
