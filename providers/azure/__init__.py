"""The Azure provider: Azure Functions (Linux Consumption) with bindings generated from the blueprint.

On Azure the triggers live in the function package (function.json bindings), not in infrastructure,
so this provider generates the package as well as the resources. See docs/azure.md for the design
choices (one Function App per blueprint function on one shared plan, API Management for one base URL,
identity-based connections) and what each blueprint setting becomes.
"""
