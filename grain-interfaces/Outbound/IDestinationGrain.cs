namespace CallMesh.Outbound;

/// <summary>
/// The dispatcher of one destination (keyed by its id): the one activation in the cluster sends the destination's
/// outbox deliveries. Waking it where it already runs does nothing; waking it after its silo died starts it on a live one.
/// </summary>
public interface IDestinationGrain : IGrainWithStringKey
{
    Task Wake();
}
