"""Synthetic, deterministic demo data for ClubCRM (``clubcrm demo-data``).

:mod:`demodata.generate` fills the operational DB and the swipe spool; :mod:`demodata.truth`
keeps the latent behaviour of every member outside the DB and turns it into the true
probabilities the prediction models are judged against.
"""
