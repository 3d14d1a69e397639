"""The preflight: before anything is created, and without changing anything, would `pulumi up` of this stack work?

Checks the stack's config (with the program's own validation), the local tools (Pulumi CLI, AWS CLI, Docker
with buildx for linux/amd64) and the AWS account (credentials, zones, the Bedrock model, the EC2 Spot
service-linked role, the EKS version, network quotas). Each finding is pass, warn or fail, and every warn or
fail says how to fix it. Modules: findings (the typed report), stack, commands and checks_tools (local tools),
aws_clients, checks_aws, checks_bedrock, checks_quotas (AWS reads), run (the order), report (text and JSON).
"""
