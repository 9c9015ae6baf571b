"""Local stand-ins for Azure (Face API emulator, managed-identity endpoint, Azurite launcher).

Never deployed: `.funcignore` keeps this package out of the function app's zip.
"""
