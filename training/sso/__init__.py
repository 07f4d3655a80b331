"""Single sign-on: people signing in through the organisation's identity provider (issue 18).

`identity` holds what every protocol hands over (`IdpIdentity`) and the rules that turn it into one
of our people (link, create just in time, or refuse); `signin` finishes a sign-in for the protocol
routes (OpenID Connect in `oidc`, SAML 2.0 in `saml`); `logout` lets a protocol end the identity
provider's session after ours.
"""
