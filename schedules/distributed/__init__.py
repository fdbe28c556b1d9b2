"""Scale-out: runs executed by ``backroom worker`` processes through procrastinate (PostgreSQL).

serve (leader) ── fenced claim of a fire ► history run (queued) ► procrastinate job (queue by capability)
worker ── takes a job ► the same child process as the local backend ► outcome into history
leader ── sweeps runs of workers whose lease expired ► interrupted (requeued when configured)
"""
