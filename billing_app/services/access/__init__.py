"""Who may come in and what they may do: staff sign-in, sessions, accounts and
two-factor, team, roles, throttling."""
