"""The GraphQL Integration API the simulator serves: the SDL (and its schema variants), the resolvers, a fast
executor, query complexity and the permission each field needs."""
