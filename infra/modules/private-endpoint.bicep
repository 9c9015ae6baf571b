// One private endpoint of a private deployment, with the private DNS zone that makes the service's public name
// resolve to it inside the network: the app keeps calling https://<account>.queue.core.windows.net (or the Face
// endpoint), and only the address behind the name changes.

param name string
param location string
param tags object
@description('The resource the endpoint reaches: the storage account or the Face resource.')
param serviceId string
@description('Which of its sub-resources: blob, queue, table, or account (Face).')
param groupId string
@description('The private link zone for that sub-resource, e.g. privatelink.queue.core.windows.net.')
param zoneName string
param subnetId string
param virtualNetworkId string

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: zoneName
  location: 'global'
  tags: tags
}

resource zoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: zone
  name: '${name}-link'
  location: 'global'
  tags: tags
  properties: {
    virtualNetwork: {
      id: virtualNetworkId
    }
    // The zone only answers for the endpoints; nothing in the network registers its own name in it.
    registrationEnabled: false
  }
}

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: serviceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

// The zone group writes the endpoint's A record into the zone, and keeps it there while the endpoint lives.
resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: groupId
        properties: {
          privateDnsZoneId: zone.id
        }
      }
    ]
  }
}

output id string = endpoint.id
