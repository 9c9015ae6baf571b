// The virtual network of a private deployment (vnetEnabled): one subnet delegated to Flex Consumption for the
// app's outbound traffic, one for the private endpoints of storage and Face, each behind its own network security
// group. Subnets are declared inside the network, not as child resources: a network redeployed without its
// subnets in its body would try to delete them, and one that holds the app's integration cannot be deleted.

param name string
param location string
param tags object
param addressPrefix string
param appSubnetPrefix string
param privateEndpointSubnetPrefix string

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

resource appSecurityGroup 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${name}-app'
  location: location
  tags: tags
  properties: {
    // Nothing reaches the app through this subnet: it only carries the app's outbound calls, which the default
    // rules allow (to the private endpoints in the network, and to Entra ID and Application Insights outside it).
    securityRules: []
  }
}

resource privateEndpointSecurityGroup 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${name}-private-endpoints'
  location: location
  tags: tags
  properties: {
    // HTTPS from the network (the app, and whatever the deployer peers or connects to it) and nothing else.
    securityRules: [
      {
        name: 'allow-https-from-the-network'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: privateEndpointSubnetPrefix
          destinationPortRange: '443'
        }
      }
      {
        name: 'deny-everything-else'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: '*'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource network 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: appSecurityGroup.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: privateEndpointSecurityGroup.id
          }
          // Network policies on, so that the security group's rules apply to the private endpoints too.
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
    ]
  }
}

output id string = network.id
output name string = network.name
output appSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', network.name, appSubnetName)
output privateEndpointSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', network.name, privateEndpointSubnetName)
