"""The clinic's calendar in the database: sites, chairs, staff shifts and appointments. The
placing rules and solvers are the pure core in `ketaflow.scheduling`; this domain loads the
calendar into it and stores what it books."""
