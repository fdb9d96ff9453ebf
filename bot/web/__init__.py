"""The web gallery and the moderators' dashboard: another face on the same decisions.

Members sign in with Discord (OAuth2) and see their videos and their servers' galleries;
moderators see the server's figures and manage its quotas with the `/quota` decisions
themselves. What anyone may see is checked with Discord at each request.
"""
